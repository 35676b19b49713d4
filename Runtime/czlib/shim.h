// The system zlib, imported into Swift as the module CZlib (used by Gzip.swift to inflate .gz data files).
#include <zlib.h>
