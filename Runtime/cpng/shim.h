// The system libpng (Debian's libpng-dev), imported into Swift as the module CPNG (used by PNGFolder.swift to
// decode class folders of PNG images through libpng's simplified API, which reports errors without longjmp).
#include <png.h>
