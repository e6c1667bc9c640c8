from statesafe.cli import main

main()
