"""Migration revisions, one file each (a package so installs ship them)."""
