#!version:1.0.0.1
## hotprov: boot file. Files load top to bottom; a later file overrides an earlier one.
include:config "y000000000097.cfg"
include:config "001565000010.cfg"
## A parameter removed from the files returns to its factory default.
overwrite_mode = 1
