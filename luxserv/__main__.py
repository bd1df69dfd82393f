from luxserv.cli import main

main()
