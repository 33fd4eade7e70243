from pyss.cli.ss import main

raise SystemExit(main())
