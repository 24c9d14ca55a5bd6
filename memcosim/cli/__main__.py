from memcosim.cli.main import main

raise SystemExit(main())
