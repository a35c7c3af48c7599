# An unreadable --domains file is our problem, not the client's: 421 4.3.0 at greeting time, exit 111.
@args --domains tests/transcripts/no-such-domains-file
C: EHLO client.example
C: QUIT
S: 421 4.3.0 *
@new 0
@exit 111
