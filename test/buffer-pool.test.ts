import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../src/tensor/pool.js';

// The pool's free lists are bounded: shapes that keep changing (texts of every
// length, a growing KV cache) must not make memory grow with the corpus.

test('free buffers stay under maxFreeBytes however many sizes pass through', () => {
  const pool = new BufferPool('float32', 4000);
  for (let length = 1; length <= 500; length++) pool.release(pool.acquire(length));
  const stats = pool.snapshot();
  assert.ok(stats.freeBytes <= 4000, `free bytes ${stats.freeBytes} exceed the 4000-byte cap`);
  assert.ok(stats.freeBytes > 3000, `the cap should be used, not emptied: ${stats.freeBytes} bytes free`);
  assert.equal(stats.liveBytes, 0);
  // allocatedBytes counts what the pool still references: the free buffers, as nothing is live.
  assert.equal(stats.allocatedBytes, stats.freeBytes);
});

test('the least recently used size classes go first; a class in use every step stays', () => {
  const pool = new BufferPool('float32', 1000);
  const hot = pool.acquire(100); // 400 bytes, used each round
  pool.release(hot);
  for (let round = 0; round < 20; round++) {
    const again = pool.acquire(100);
    pool.release(pool.acquire(50 + round)); // a new size each round, about 200-280 bytes
    pool.release(again);
  }
  const before = pool.snapshot();
  const reused = pool.acquire(100);
  const after = pool.snapshot();
  assert.equal(after.hits, before.hits + 1, 'the hot size class was evicted');
  assert.ok(before.freeBytes <= 1000, `free bytes ${before.freeBytes} exceed the cap`);
  pool.release(reused);
  // The oldest one-off sizes were dropped, the newest kept.
  const newest = pool.acquire(69);
  assert.equal(pool.snapshot().hits, after.hits + 1, 'the most recent one-off size should still be free');
  pool.release(newest);
  const oldest = pool.acquire(50);
  assert.equal(pool.snapshot().misses, after.misses + 1, 'the oldest one-off size should have been dropped');
  pool.release(oldest);
});

test('a buffer larger than the cap is not kept; lowering the cap drops buffers at once; bad caps are refused', () => {
  const pool = new BufferPool('float64', 800);
  pool.release(pool.acquire(101)); // 808 bytes > 800
  assert.equal(pool.snapshot().freeBytes, 0);
  assert.equal(pool.snapshot().allocatedBytes, 0);
  pool.release(pool.acquire(50));
  pool.release(pool.acquire(40));
  assert.equal(pool.snapshot().freeBytes, 720);
  pool.maxFreeBytes = 400;
  assert.equal(pool.snapshot().freeBytes, 320, 'the older class (50 elements) goes first');
  assert.throws(() => { pool.maxFreeBytes = -1; }, /maxFreeBytes must be an integer >= 0, got -1/);
  assert.throws(() => new BufferPool('float32', 1.5), /maxFreeBytes must be an integer >= 0, got 1.5/);
});
