-- :AsyncodeInspect: signature and docstring of the name under the cursor, in a float.
local client = require('asyncode.client')
local sessions = require('asyncode.sessions')
local encoding = require('asyncode.encoding')
local mime = require('asyncode.mime')

local M = {}

M.last = nil -- {bufnr, winid} of the last float (tests)

function M.show(cb)
  cb = cb or function() end
  local bufnr = vim.api.nvim_get_current_buf()
  local line = vim.api.nvim_get_current_line()
  local col = vim.api.nvim_win_get_cursor(0)[2]
  -- the end of the word under the cursor: jedi inspects what is left of the cursor
  local word_end = col
  while word_end < #line and line:sub(word_end + 1, word_end + 1):match('[%w_]') do
    word_end = word_end + 1
  end
  local s = sessions.for_buffer(bufnr)
  sessions.ensure(s, function(err)
    if err then
      client.notify(err, vim.log.levels.ERROR)
      return cb(nil)
    end
    local params = { session = s.name, code = line, cursor = encoding.to_wire(line, word_end, client.encoding()) }
    client.request(client.method.inspect, params, function(e, result)
      if e or not result or not result.found or not result.data then
        client.notify(e and (e.message or 'inspect failed') or 'nothing found under the cursor')
        return cb(nil)
      end
      local md = result.data['text/markdown']
      local text = md or mime.text(result.data)
      local lines = vim.split(text, '\n', { plain = true })
      local fbuf, win = vim.lsp.util.open_floating_preview(lines, md and 'markdown' or 'plaintext',
        { border = 'rounded', focus_id = 'asyncode_inspect', max_width = 100 })
      M.last = { bufnr = fbuf, winid = win }
      cb(M.last)
    end)
  end)
end

return M
