#!version:1.0.0.1
## hotprov: this phone's first file. The next one gives it credentials of its own.
include:config "001565000001.cfg"
