target_link_libraries(sockit PRIVATE sockit::ss)
