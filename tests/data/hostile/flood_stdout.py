    import os, sys
    block = "x" * 65536
    while True:
        sys.stdout.write(block)
        os.write(2, block.encode())
