# sockit nc's helpers (hex dump, CRLF) live in src/tools/nc.
target_link_libraries(sockit PRIVATE sockit::nc_support sockit::loop)
