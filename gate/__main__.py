from gate.entry import run

run()
