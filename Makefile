# The two commands of the README; each does the setup itself on a fresh machine.
.PHONY: demo test setup doctor

demo: setup
	.venv/bin/siteward demo

test: setup
	.venv/bin/python -m pytest

setup:
	@bash scripts/setup.sh

doctor: setup
	.venv/bin/siteward doctor
