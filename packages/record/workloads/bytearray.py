# Python growing bytearrays: CPython's realloc of big buffers goes to glibc's mremap path.
bufs = [bytearray() for _ in range(8)]
for step in range(40):
    for i, b in enumerate(bufs):
        b.extend(bytes([i]) * (48 * 1024))
assert all(len(b) == 40 * 48 * 1024 for b in bufs)
