"""Landing files in, validated raw tables out: the demo generator and the loader."""
