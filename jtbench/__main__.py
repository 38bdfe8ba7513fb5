from jtbench.cli.app import main

main()
