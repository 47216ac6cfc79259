// Starts Swagger UI on the gateway's /docs page. A file of its own, not an inline script: the
// page's Content-Security-Policy allows scripts from the gateway itself only. The page names
// the OpenAPI document in the element's data-openapi-url (so a root path is honoured).
window.addEventListener("load", function () {
  var element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: element.getAttribute("data-openapi-url"),
    domNode: element,
    deepLinking: true,
    validatorUrl: null, // no call to a third-party validator
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
