// shaderc's C API (libshaderc-dev), imported into Swift as the module CShaderc: GLSL -> SPIR-V inside cnnc.
#include <shaderc/shaderc.h>
