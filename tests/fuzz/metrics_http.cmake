target_link_libraries(${exe} PRIVATE sockit::metrics)
