#!/bin/sh
# A Linux gateway between the children's network and the internet (a home router, a school
# lab's server), run as root. LAN is its interface towards the children, LAN_ADDRESS its
# address there: the devices' default route and DNS server (hand them out by DHCP).
set -e
LAN=${LAN:-eth1}
LAN_ADDRESS=${LAN_ADDRESS:-192.168.1.1}
sysctl -w net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0
# Every DNS lookup goes to the proxy's DNS, whatever server a device was told to use...
iptables -t nat -A PREROUTING -i "$LAN" -p udp --dport 53 -j REDIRECT --to-ports 53
iptables -t nat -A PREROUTING -i "$LAN" -p tcp --dport 53 -j REDIRECT --to-ports 53
# ...and every other TCP connection to the transparent proxy, which decides it.
iptables -t nat -A PREROUTING -i "$LAN" -p tcp -j REDIRECT --to-ports 8081
# No other UDP leaves: QUIC falls back to TCP, and TCP is decided.
iptables -A FORWARD -i "$LAN" -p udp -j DROP
exec vaccine run --mode transparent@0.0.0.0:8081 --mode "dns@$LAN_ADDRESS:53"
