print("ngbench")
