# The ping tracker and the proxy settings are internal libraries of the tools.
target_link_libraries(${test_target} PRIVATE sockit::ping sockit::proxy)
