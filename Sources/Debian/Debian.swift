// Packages strategy: Debian repositories, resolution, .deb extraction.
