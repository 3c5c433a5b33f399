# fish completion for fed-sign(1)

# Bundles: *.fed files, and directories to find them in.
set -l bundles '(__fish_complete_path (commandline -ct | string replace -r -- "^-[^=]*=" "") | string match -er -- "(?:\.fed|/)\t")'
complete -c fed-sign -f
complete -c fed-sign -s G -l generate -d 'Generate a key pair'
complete -c fed-sign -s n -l no-passphrase -d 'With -G, no passphrase on the secret key'
complete -c fed-sign -l passphrase-file -r -F -d 'Read the passphrase from a file'
complete -c fed-sign -s p -l public-key -r -F -d 'With -G, the public key to create'
complete -c fed-sign -s s -l secret-key -r -F -d 'Secret key'
complete -c fed-sign -s o -l output -r -F -d 'Write the signed bundle to a file'
complete -c fed-sign -s x -l detached -r -F -d 'Write a detached signature only'
complete -c fed-sign -s h -l help -d 'Print usage and exit'
complete -c fed-sign -l version -d 'Print the version and exit'
complete -c fed-sign -n 'not __fish_seen_argument -s G -l generate' -a $bundles -d 'Bundle'
