from smokewatch.cli import main

main()
