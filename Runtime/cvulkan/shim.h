// The Vulkan headers (libvulkan-dev), imported into Swift as the module CVulkan. No prototypes: the trainer opens
// the system loader (libvulkan.so.1) at run time and loads every entry point through vkGetInstanceProcAddr, so
// that a machine without Vulkan gets a clear error instead of a dynamic-linker failure.
#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>
