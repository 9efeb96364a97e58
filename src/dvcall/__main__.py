from dvcall.cli.main import run

run()
