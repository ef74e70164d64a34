# The loop's private seam (src/loop/detail.hpp: echo by splice) is tested here.
target_include_directories(${test_target} PRIVATE ${PROJECT_SOURCE_DIR}/src)
