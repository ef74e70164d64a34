# sockit proxy: everything but the command line lives in src/tools/proxy.
if(TARGET sockit_proxy)
  target_link_libraries(sockit PRIVATE sockit::proxy)
endif()
target_link_libraries(sockit PRIVATE sockit::metrics)
