function(strain_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wformat=2
        -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter)
    if(STRAIN_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
