from host_exporter.cli import main

raise SystemExit(main())
