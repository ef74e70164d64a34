target_link_libraries(${test_target} PRIVATE sockit::metrics)
