// Node growing and dropping Buffers: big Buffers are malloc'ed outside the V8 heap.
let keep = [];
for (let round = 0; round < 30; round++) {
  const b = Buffer.alloc((round + 1) * 256 * 1024, round);
  keep.push(b);
  if (keep.length > 4) keep.shift();
}
if (keep.length !== 4) process.exit(1);
