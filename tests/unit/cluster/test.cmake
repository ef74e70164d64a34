# The cluster's private seam (src/cluster/irc_link_impl.hpp: SeenLines) is tested here.
target_include_directories(${test_target} PRIVATE ${PROJECT_SOURCE_DIR}/src)
