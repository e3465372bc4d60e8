#!/bin/sh
# Prints the greeting the image was configured with.
sed -n "s/^greeting: //p" /etc/app/app.yaml
