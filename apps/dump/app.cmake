# `sockit dump`: the decoder library plus libpcap for capture and pcap files.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
target_link_libraries(sockit PRIVATE sockit::pcapdecode PkgConfig::PCAP)
