import sys

from vaccine.proxy.cli.main import main

sys.exit(main())
