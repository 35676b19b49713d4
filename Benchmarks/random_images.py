"""Writes N random 32x32x3 images with labels as CSV rows (3072 values in 0..255, then a label in 0..9), seeded, for
the benchmarks of the 32x32x3 nets: their speed does not depend on the values. Usage: random_images.py N > FILE"""
import random
import sys

random.seed(1)
for _ in range(int(sys.argv[1])):
    print(",".join(str(random.randrange(256)) for _ in range(3072)) + "," + str(random.randrange(10)))
