#!/usr/bin/perl
# Independent DKIM verifier for the tests: Mail::DKIM (Debian libmail-dkim-perl,
# with libcryptx-perl for Ed25519), asking the test's Knot server on loopback.
#
# usage: dkimverify.pl DNS_IP DNS_PORT < message
# prints one line per signature: "DOMAIN SELECTOR ALGORITHM RESULT [DETAIL]"
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

my ($ip, $port) = @ARGV;
die "usage: $0 DNS_IP DNS_PORT < message\n" unless defined $port;

Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
    nameservers => [$ip], port => $port, recurse => 0, retry => 2, tcp_timeout => 5,
    udp_timeout => 5,
));

my $dkim = Mail::DKIM::Verifier->new();
binmode STDIN;
while (my $line = <STDIN>) {
    $line =~ s/\015?\012\z/\015\012/;    # Mail::DKIM wants CRLF line ends
    $dkim->PRINT($line);
}
$dkim->CLOSE();

foreach my $sig ($dkim->signatures) {
    my $detail = $sig->result_detail // '';
    printf "%s %s %s %s %s\n", $sig->domain, $sig->selector, $sig->algorithm, $sig->result,
        $detail;
}
