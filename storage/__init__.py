"""Object-store backends behind one Protocol: a local WORM folder and MinIO/S3 Object Lock."""
