# The serve tests also check the private seam (src/serve/tuning.hpp: splice echo, turn-end hook).
target_include_directories(${test_target} PRIVATE ${PROJECT_SOURCE_DIR}/src)
