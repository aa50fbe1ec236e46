"""Entry script of the packaged app (PyInstaller runs it as __main__, so it imports the package absolutely)."""

from xmr_gui.__main__ import main

raise SystemExit(main())
