# fish completion for fed-roster(1)

complete -c fed-roster -s p -l previous -r -F -d 'The roster this one follows'
complete -c fed-roster -s P -l key-dir -x -a '(__fish_complete_directories)' -d 'A holder for every NAME.pub in a directory'
complete -c fed-roster -s d -l remove -x -d 'Drop a holder of the previous roster'
complete -c fed-roster -s o -l output -r -F -d 'Write the roster to a file'
complete -c fed-roster -s h -l help -d 'Print usage and exit'
complete -c fed-roster -l version -d 'Print the version and exit'
