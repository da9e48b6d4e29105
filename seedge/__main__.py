from seedge.cli import main

main()
