import sys

from infra.aws.package import main

sys.exit(main())
