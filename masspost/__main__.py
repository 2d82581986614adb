from masspost.cli.main import main

main()
