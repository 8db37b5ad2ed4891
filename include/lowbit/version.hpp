#pragma once
// Kept equal to project(VERSION) in CMakeLists.txt, which reads it from here.
#define LOWBIT_VERSION_MAJOR 0
#define LOWBIT_VERSION_MINOR 2
#define LOWBIT_VERSION_PATCH 0
#define LOWBIT_VERSION_STRING "0.2.0"
