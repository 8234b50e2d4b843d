#!/usr/bin/perl
# A small HTTP server for tests/t/66-power-http.t that speaks the APIs of
# power switches with no packaged implementation: 3mdeb RTE, Tasmota,
# Shelly Gen1, a generic device, and Intel AMT WS-Management (HTTP digest).
# It checks every request against the API (method, path, query, headers,
# body, authentication) and logs each one; a request the API would not
# accept is answered 400 and logged with "BAD: why", so the test fails.
#
#   power-http-server.pl --mode rte|tasmota|shelly|generic|amt --dir DIR
#                        [--user U --password P] [--state on|off]
#
# DIR/port   the port it listens on, 127.0.0.1 (written when ready)
# DIR/log    one line per request: METHOD TARGET AUTH CONTENT-TYPE BODY,
#            tab-separated (AUTH: -, basic:USER:ok|bad, digest:USER:ok|bad;
#            never the password)
# DIR/state  the device's power, on or off, after every change
# DIR/events what it did: "relay 1", "pulse 9 5", "amt 10"...
# DIR/next   read and removed before an authenticated request (amt):
#            "fault" answers a SOAP fault, "rv N" ReturnValue N, "hang N"
#            (read at connect) stalls the connection N s then drops it,
#            "answer CODE FILE" answers status CODE with DIR/FILE's bytes
#            as they are (a hostile or broken peer).
# Core Perl modules only.  It ends on SIGTERM, or by itself after 300 s.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use Getopt::Long;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64;
use Time::HiRes qw(time sleep);

my ($mode, $dir, $user, $password, $state) = ('', '', undef, undef, 'off');
GetOptions('mode=s' => \$mode, 'dir=s' => \$dir, 'user=s' => \$user,
	'password=s' => \$password, 'state=s' => \$state)
	or die "usage: $0 --mode M --dir D\n";
$mode =~ /^(rte|tasmota|shelly|generic|amt)$/ or die "unknown mode '$mode'\n";
-d $dir or die "no directory '$dir'\n";

my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	Listen => 8, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!\n";
my $port = $srv->sockport;
my $realm = 'Digest:4C4C4544-0033-4810-8051-B4C04F4A3232';
my %nonces;
my $flip_at;		# shelly timer: when the relay flips back on
my $deadline = time + 300;

sub append { my ($f, $s) = @_; open my $fh, '>>', "$dir/$f" or die; print $fh $s; close $fh }
sub put {
	my ($f, $s) = @_;
	open my $fh, '>', "$dir/$f.tmp" or die; print $fh $s; close $fh;
	rename "$dir/$f.tmp", "$dir/$f" or die;
}
sub set_state { $state = shift; put('state', "$state\n") }
sub event { append('events', "@_\n") }
sub take_next {
	my $f = "$dir/next";
	return '' unless -e $f;
	open my $fh, '<', $f or return '';
	my $s = <$fh> // '';
	close $fh;
	unlink $f;
	chomp $s;
	return $s;
}

set_state($state);
put('port', "$port\n");
$SIG{TERM} = sub { exit 0 };

sub respond {
	my ($c, $code, $type, $body, @hdr) = @_;
	my %reason = (200 => 'OK', 400 => 'Bad Request', 401 => 'Unauthorized',
		404 => 'Not Found', 500 => 'Internal Server Error');
	my $h = "HTTP/1.1 $code $reason{$code}\r\nContent-Type: $type\r\n"
		. "Content-Length: " . length($body) . "\r\n";
	$h .= "$_\r\n" for @hdr;
	print $c "$h\r\n$body";
}

# Read one request: (method, target, \%headers, body) or () at EOF.
sub read_request {
	my ($c) = @_;
	my $line = <$c>;
	return () unless defined $line;
	$line =~ s/\r?\n$//;
	my ($m, $t, $v) = split / /, $line;
	my %h;
	while (defined(my $l = <$c>)) {
		$l =~ s/\r?\n$//;
		last if $l eq '';
		my ($k, $val) = $l =~ /^([^:]+):\s*(.*)$/ or next;
		$h{lc $k} = $val;
	}
	my $body = '';
	if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
		$h{bad} = 'chunked request bodies are not expected';
	} elsif (my $n = $h{'content-length'}) {
		read($c, $body, $n);
	}
	return ($m, $t, \%h, $body);
}

sub auth_basic {
	my ($h) = @_;
	my $a = $h->{authorization} // return '-';
	my ($u, $p) = $a =~ /^Basic (\S+)$/
		? split(/:/, decode_base64($1), 2) : return 'bad-scheme';
	return "basic:$u:" . (defined $user && $u eq $user && $p eq $password ? 'ok' : 'bad');
}

sub auth_digest {
	my ($m, $h) = @_;
	my $a = $h->{authorization} // return '-';
	$a =~ s/^Digest\s+// or return 'bad-scheme';
	my %f;
	$f{lc $1} = defined $2 ? $2 : $3 while $a =~ /(\w+)=(?:"([^"]*)"|([^\s,]+))/g;
	my $u = $f{username} // '';
	return "digest:$u:bad" unless defined $user && $u eq $user
		&& ($f{realm} // '') eq $realm && $nonces{$f{nonce} // ''}
		&& ($f{qop} // '') eq 'auth' && defined $f{nc} && defined $f{cnonce};
	my $ha1 = md5_hex("$u:$realm:$password");
	my $ha2 = md5_hex("$m:$f{uri}");
	my $want = md5_hex("$ha1:$f{nonce}:$f{nc}:$f{cnonce}:auth:$ha2");
	return "digest:$u:" . ($want eq ($f{response} // '') ? 'ok' : 'bad');
}

sub json_answer { my ($c, $o) = @_; respond($c, 200, 'application/json', encode_json($o)) }

sub query { my %q; for (split /&/, shift // '') { my ($k, $v) = split /=/, $_, 2; $q{$k} = uri_unescape($v // '') } \%q }
sub uri_unescape { my $s = shift; $s =~ s/\+/ /g; $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $s }

# ---- the APIs: each returns an error text for a bad request, or '' ----

sub rte {
	my ($c, $m, $path, $q, $h, $body) = @_;
	my ($id) = $path =~ m{^/api/v1/gpio/(\d+)$} or return "no such path $path";
	return "GPIO $id is not one RTE drives here (0, 8, 9)" unless $id =~ /^(0|8|9)$/;
	if ($m eq 'GET') {
		return "GET with a body" if length $body;
		json_answer($c, { id => $id + 0, state => ($id == 0 && $state eq 'on') ? 1 : 0,
			direction => 'out', time => 0 });
		return '';
	}
	return "method $m (want GET or PATCH)" unless $m eq 'PATCH';
	return "Content-Type " . ($h->{'content-type'} // 'none') . " (want application/json)"
		unless ($h->{'content-type'} // '') eq 'application/json';
	my $j = eval { decode_json($body) } or return "body is not JSON: $body";
	return "body keys " . join(',', sort keys %$j) . " (want direction,state,time)"
		unless join(',', sort keys %$j) eq 'direction,state,time';
	return "direction $j->{direction}" unless $j->{direction} eq 'out';
	return "state $j->{state}" unless $j->{state} =~ /^[01]$/;
	return "time $j->{time}" unless $j->{time} =~ /^\d+$/;
	if ($id == 0) {
		return "relay with time $j->{time} (a relay holds its level)" if $j->{time};
		set_state($j->{state} ? 'on' : 'off');
		event("relay $j->{state}");
	} else {
		return "a button released (state 0) or held forever (time 0)"
			unless $j->{state} == 1 && $j->{time} > 0;
		event("pulse $id $j->{time}");
	}
	json_answer($c, { id => $id + 0, state => $j->{state}, direction => 'out', time => $j->{time} });
	return '';
}

sub tasmota {
	my ($c, $m, $path, $q, $h, $body) = @_;
	return "no such path $path" unless $path eq '/cm';
	if ($m eq 'POST') {
		return "Content-Type " . ($h->{'content-type'} // 'none')
			unless ($h->{'content-type'} // '') eq 'application/x-www-form-urlencoded';
		return "a query and a POST body" if %$q;
		$q = query($body);
	} elsif ($m ne 'GET') {
		return "method $m";
	}
	return "a password in the URL" if $m eq 'GET' && exists $q->{password};
	if (defined $password) {
		unless (($q->{user} // '') eq $user && ($q->{password} // '') eq $password) {
			json_answer($c, { WARNING => 'Need user=<username>&password=<password>' });
			return '';
		}
	}
	my $cmnd = $q->{cmnd} // return "no cmnd";
	my ($n, $act) = $cmnd =~ /^Power(\d*)(?: (On|Off))?$/ or do {
		json_answer($c, { Command => 'Unknown' });
		return '';
	};
	return "relay $n (this device has 2)" if length $n && $n > 2;
	if ($act) {
		set_state(lc $act);
		event("power$n $act");
	}
	json_answer($c, { "POWER$n" => uc $state });
	return '';
}

sub shelly {
	my ($c, $m, $path, $q, $h, $body) = @_;
	return "method $m" unless $m eq 'GET';
	my ($r) = $path =~ m{^/relay/(\d+)$} or return "no such path $path";
	return "relay $r (this Shelly has one, 0)" if $r;
	if (defined $user) {
		my $a = auth_basic($h);
		if ($a ne "basic:$user:ok") {
			respond($c, 401, 'text/plain', '401 Unauthorized');
			return '';
		}
	}
	for (keys %$q) { return "query key $_" unless /^(turn|timer)$/ }
	if (exists $q->{turn}) {
		return "turn=$q->{turn}" unless $q->{turn} =~ /^(on|off)$/;
		set_state($q->{turn});
		event("turn $q->{turn}" . (exists $q->{timer} ? " timer $q->{timer}" : ''));
		$flip_at = undef;
		if (exists $q->{timer}) {
			return "timer=$q->{timer}" unless $q->{timer} =~ /^[1-9]\d*$/;
			$flip_at = time + $q->{timer};
		}
	} elsif (exists $q->{timer}) {
		return "timer without turn";
	}
	json_answer($c, { ison => $state eq 'on' ? JSON::PP::true : JSON::PP::false,
		has_timer => defined $flip_at ? JSON::PP::true : JSON::PP::false,
		timer_remaining => defined $flip_at ? int($flip_at - time) : 0,
		overpower => JSON::PP::false, source => 'http' });
	return '';
}

# A made-up device: GET /dev/on, POST /dev/set state=0|1, GET /dev/status.
sub generic {
	my ($c, $m, $path, $q, $h, $body) = @_;
	if ($m eq 'GET' && $path eq '/dev/on' && !%$q) {
		set_state('on');
		event('generic on');
	} elsif ($m eq 'POST' && $path eq '/dev/set') {
		return "Content-Type " . ($h->{'content-type'} // 'none')
			unless ($h->{'content-type'} // '') eq 'application/x-www-form-urlencoded';
		return "body '$body'" unless $body =~ /^state=([01])$/;
		set_state($1 ? 'on' : 'off');
		event("generic set $1");
	} elsif ($m eq 'GET' && $path eq '/dev/status' && !%$q) {
		respond($c, 200, 'application/json', '{"device": "x", "on": ' . ($state eq 'on' ? 'true' : 'false') . '}');
		return '';
	} else {
		return "no such request $m $path";
	}
	json_answer($c, { ok => JSON::PP::true });
	return '';
}

my $S = 'http://www.w3.org/2003/05/soap-envelope';
my $A = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
my $W = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd';
my $CIM = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/';

sub envelope {
	my ($action, $relates, $ns, $body) = @_;
	return qq(<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="$S" xmlns:b="$A" xmlns:c="$W" xmlns:g="$ns">)
		. qq(<a:Header><b:To>$A/role/anonymous</b:To><b:RelatesTo>$relates</b:RelatesTo>)
		. qq(<b:Action a:mustUnderstand="true">$action</b:Action>)
		. qq(<b:MessageID>uuid:00000000-8086-8086-8086-000000000${\ int(rand(900) + 100)}</b:MessageID>)
		. qq(</a:Header><a:Body>$body</a:Body></a:Envelope>);
}

sub amt {
	my ($c, $m, $path, $q, $h, $body, $auth) = @_;
	return "method $m" unless $m eq 'POST';
	return "no such path $path" unless $path eq '/wsman' && !%$q;
	if ($auth !~ /^digest:.*:ok$/) {
		my $nonce = md5_hex(rand() . time);
		$nonces{$nonce} = 1;
		respond($c, 401, 'text/html', '<html>401</html>',
			qq(WWW-Authenticate: Digest realm="$realm", nonce="$nonce", stale="false", qop="auth"));
		return '';
	}
	return "Content-Type " . ($h->{'content-type'} // 'none')
		unless ($h->{'content-type'} // '') =~ m{^application/soap\+xml;\s*charset=UTF-8$}i;
	my $x = $body;
	return "not a SOAP 1.2 envelope" unless $x =~ m{^<\?xml version="1\.0" encoding="UTF-8"\?><s:Envelope xmlns:s="\Q$S\E" xmlns:wsa="\Q$A\E" xmlns:wsman="\Q$W\E"};
	return "To is not http://127.0.0.1:$port/wsman"
		unless $x =~ m{<wsa:To s:mustUnderstand="true">http://127\.0\.0\.1:$port/wsman</wsa:To>};
	my ($mid) = $x =~ m{<wsa:MessageID s:mustUnderstand="true">(uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})</wsa:MessageID>}
		or return "no MessageID uuid";
	return "no anonymous ReplyTo"
		unless $x =~ m{<wsa:ReplyTo><wsa:Address>\Q$A\E/role/anonymous</wsa:Address></wsa:ReplyTo>};
	my ($action) = $x =~ m{<wsa:Action s:mustUnderstand="true">([^<]+)</wsa:Action>} or return "no Action";
	my ($res) = $x =~ m{<wsman:ResourceURI s:mustUnderstand="true">([^<]+)</wsman:ResourceURI>} or return "no ResourceURI";
	my $next = take_next();
	if ($next =~ /^answer (\d+) (\S+)$/) {
		open my $fh, '<:raw', "$dir/$2" or die "$dir/$2: $!";
		local $/;
		my $raw = <$fh>;
		close $fh;
		respond($c, $1, 'application/soap+xml;charset=UTF-8', $raw);
		event("amt answer $1 $2");
		return '';
	}
	if ($next eq 'fault') {
		respond($c, 400, 'application/soap+xml;charset=UTF-8', envelope("$A/fault", $mid, $S,
			qq(<a:Fault><a:Code><a:Value>a:Sender</a:Value><a:Subcode><a:Value>b:DestinationUnreachable</a:Value></a:Subcode></a:Code>)
			. qq(<a:Reason><a:Text xml:lang="en-US">No route can be determined to reach the destination role defined by the WS-Addressing To.</a:Text></a:Reason>)
			. qq(<a:Detail></a:Detail></a:Fault>)));
		event('amt fault');
		return '';
	}
	if ($action eq 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get') {
		return "Get of $res" unless $res eq "${CIM}CIM_AssociatedPowerManagementService";
		return "Get with a body" unless $x =~ m{</s:Header><s:Body/></s:Envelope>$};
		my $ns = "${CIM}CIM_AssociatedPowerManagementService";
		my $ps = $state eq 'on' ? 2 : 8;
		respond($c, 200, 'application/soap+xml;charset=UTF-8', envelope(
			'http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse', $mid, $ns,
			qq(<g:CIM_AssociatedPowerManagementService><g:AvailableRequestedPowerStates>2</g:AvailableRequestedPowerStates>)
			. qq(<g:PowerState>$ps</g:PowerState><g:RequestedPowerState>$ps</g:RequestedPowerState>)
			. qq(<g:ServiceProvided><b:Address>default</b:Address><b:ReferenceParameters><c:ResourceURI>${CIM}CIM_PowerManagementService</c:ResourceURI></b:ReferenceParameters></g:ServiceProvided>)
			. qq(</g:CIM_AssociatedPowerManagementService>)));
		event('amt status');
		return '';
	}
	my $pms = "${CIM}CIM_PowerManagementService";
	return "Action $action" unless $action eq "$pms/RequestPowerStateChange" && $res eq $pms;
	return "no Power Management Service selector"
		unless $x =~ m{<wsman:SelectorSet><wsman:Selector Name="Name">Intel\(r\) AMT Power Management Service</wsman:Selector></wsman:SelectorSet></s:Header>};
	my ($ps) = $x =~ m{<s:Body><n1:RequestPowerStateChange_INPUT><n1:PowerState>(\d+)</n1:PowerState>}
		or return "no PowerState in RequestPowerStateChange_INPUT";
	return "no ManagedSystem ManagedElement" unless $x =~ m{<n1:ManagedElement><wsa:Address>\Q$A\E/role/anonymous</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>${CIM}CIM_ComputerSystem</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name="Name">ManagedSystem</wsman:Selector></wsman:SelectorSet></wsa:ReferenceParameters></n1:ManagedElement></n1:RequestPowerStateChange_INPUT></s:Body></s:Envelope>$};
	return "PowerState $ps" unless $ps =~ /^(2|5|8|10)$/;
	my $rv = 0;
	if ($next =~ /^rv (\d+)$/) {
		$rv = $1;
	} elsif ($ps == 2) {
		set_state('on');
	} elsif ($ps == 8) {
		set_state('off');
	}
	event("amt $ps rv $rv");
	respond($c, 200, 'application/soap+xml;charset=UTF-8', envelope(
		"$pms/RequestPowerStateChangeResponse", $mid, $pms,
		"<g:RequestPowerStateChange_OUTPUT><g:ReturnValue>$rv</g:ReturnValue></g:RequestPowerStateChange_OUTPUT>"));
	return '';
}

my %api = (rte => \&rte, tasmota => \&tasmota, shelly => \&shelly,
	generic => \&generic, amt => \&amt);

sub serve {
	my ($c) = @_;
	my $sel = IO::Select->new($c);
	while ($sel->can_read(5)) {
		my ($m, $t, $h, $body) = read_request($c) or last;
		check_timer();
		my ($path, $qs) = split /\?/, $t, 2;
		my $auth = $mode eq 'amt' ? auth_digest($m, $h)
			: $mode ne 'tasmota' && defined $user ? auth_basic($h)
			: ($h->{authorization} ? 'unexpected-authorization' : '-');
		(my $logbody = $body) =~ s/\n/\\n/g;
		my $why = $h->{bad} // '';
		$why ||= 'Authorization header for an API without one' if $auth eq 'unexpected-authorization';
		$why ||= $api{$mode}->($c, $m, $path, query($qs), $h, $body, $auth);
		append('log', join("\t", $m, $t, $auth, $h->{'content-type'} // '-', $logbody)
			. ($why ? "\tBAD: $why" : '') . "\n");
		respond($c, 400, 'text/plain', "BAD: $why\n") if $why;
		last if ($h->{connection} // '') =~ /close/i;
	}
	close $c;
}

sub check_timer {
	if (defined $flip_at && time >= $flip_at) {
		set_state('on');
		event('timer on');
		$flip_at = undef;
	}
}

my $sel = IO::Select->new($srv);
while (time < $deadline) {
	check_timer();
	next unless $sel->can_read(0.1);
	my $c = $srv->accept or next;
	if (-e "$dir/next") {
		open my $fh, '<', "$dir/next";
		my $n = <$fh> // '';
		close $fh;
		if ($n =~ /^hang (\d+(?:\.\d+)?)/) {
			unlink "$dir/next";
			append('log', "HANG\t$1 s\n");
			sleep $1;
			close $c;
			next;
		}
	}
	serve($c);
}
